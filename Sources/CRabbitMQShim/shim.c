#include "CRabbitMQShim.h"

#include <string.h>

amqp_rpc_reply_t cw_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                     int channel_max, int frame_max, int heartbeat,
                                     const char *user, const char *password,
                                     const char *connection_name) {
    // The connection name travels as a client property so operators see it in the management UI.
    amqp_table_entry_t entries[1];
    amqp_table_t properties = {.num_entries = 0, .entries = entries};
    if (connection_name != NULL && connection_name[0] != '\0') {
        entries[0].key = amqp_cstring_bytes("connection_name");
        entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[0].value.value.bytes = amqp_cstring_bytes(connection_name);
        properties.num_entries = 1;
    }
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

amqp_bytes_t cw_amqp_bytes(const void *bytes, size_t length) {
    amqp_bytes_t result = {.len = length, .bytes = (void *)bytes};
    return result;
}
