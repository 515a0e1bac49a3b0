"""Detection figures of this deployment: how often people are challenged falsely, how fast
impostors are caught."""
