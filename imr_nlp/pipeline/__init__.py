"""Thin spaCy components of the imr_nlp pipeline (each holds its rules, saves them with the pipeline)."""
