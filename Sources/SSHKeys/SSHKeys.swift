/// SSH keys as values.
