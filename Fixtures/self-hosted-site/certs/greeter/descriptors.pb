
Ó
hello.protohello"8
HelloRequest
name (	Rname
times (Rtimes"<

HelloReply
message (	Rmessage
count (Rcount2=
Greeter2
SayHello.hello.HelloRequest.hello.HelloReplybproto3