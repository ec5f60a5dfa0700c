/* Replaced by scripts/generate-protos output. */
int envoyapi_placeholder(void) { return 0; }
