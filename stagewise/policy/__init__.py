"""The policy pack, run offline: the analyzer, the stage configs, the catalogue and the review section."""
