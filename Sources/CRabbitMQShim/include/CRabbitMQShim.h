#ifndef CRABBITMQ_SHIM_H
#define CRABBITMQ_SHIM_H

#include <amqp.h>

/// `amqp_login` is variadic, which Swift cannot call: this fixes it to the PLAIN mechanism.
amqp_rpc_reply_t cw_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                     int channel_max, int frame_max, int heartbeat,
                                     const char *user, const char *password,
                                     const char *connection_name);

/// Swift cannot build `amqp_bytes_t` from a borrowed pointer without copying; this does.
amqp_bytes_t cw_amqp_bytes(const void *bytes, size_t length);

#endif
