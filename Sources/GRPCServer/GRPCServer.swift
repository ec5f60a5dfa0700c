// GRPCServer module
