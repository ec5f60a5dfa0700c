// Snapshot module
