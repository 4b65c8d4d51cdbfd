// rabbitmq-c 0.11 keeps its headers at the top of the include path (no rabbitmq-c/ folder).
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
