"""The mechanistic patient model: blinatumomab PK, leukemia kinetics, MRD, toxicity, relapse."""
