"""Hidden checks (visibility: hidden in course.yaml). Never shipped in a student release."""
