// Protobuf module
