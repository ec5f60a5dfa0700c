// Translate module
