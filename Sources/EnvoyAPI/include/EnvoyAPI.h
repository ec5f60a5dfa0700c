int envoyapi_placeholder(void);
