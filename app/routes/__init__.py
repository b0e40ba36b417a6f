"""A clinician's route of a day for the mobile app: stops, ETAs, leg geometry, ETag."""
