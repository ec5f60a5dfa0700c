// XDS module
