// Certs module
