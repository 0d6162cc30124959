/* nightlight-baredevice: the reference for nightlight-device's per-tick cost (#12). What the
 * wire costs: one thread, libmosquitto's own loop, no Qt, no allocation per tick. Each tick it
 * reads a simulated light level, runs the nightlight rule (LED on below the threshold, off above
 * it plus a hysteresis of 20, unless a command set it by hand), and publishes the two messages
 * nightlight-device publishes: `<id>/telemetry` {"light": n} (QoS 0) and `<id>/state`
 * {"led_on": b, "mode": m, "threshold": t, "light": n, "ts": ms} (QoS 1, retained), with
 * TCP_NODELAY. It obeys `<id>/commands` ({"led_on": b}, {"mode": "auto"}, {"threshold": n}) and
 * answers each with its state at once, and keeps `<id>/status` online / offline (Last Will).
 * Commands are read by looking for the keys, not by a JSON parser: enough for the benchmark's
 * own commands, and the point is to cost as little as the wire.
 *
 * Not installed or packaged; built with the tests for scripts/bench-device.sh:
 *   nightlight-baredevice --port N [--host H] [--id ID] [--interval-ms MS]
 */

#include <mosquitto.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC_MAX 256
#define PAYLOAD_MAX 160

struct device
{
    char telemetry[TOPIC_MAX];
    char state[TOPIC_MAX];
    char commands[TOPIC_MAX];
    char status[TOPIC_MAX];
    int light;
    int led_on;
    int manual;
    int threshold;
    unsigned tick;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static long long now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish_state(struct mosquitto *m, struct device *d)
{
    char payload[PAYLOAD_MAX];
    const int n = snprintf(payload, sizeof payload,
                           "{\"led_on\":%s,\"mode\":\"%s\",\"threshold\":%d,\"light\":%d,"
                           "\"ts\":%lld}",
                           d->led_on ? "true" : "false", d->manual ? "manual" : "auto",
                           d->threshold, d->light, now_ms(CLOCK_REALTIME));
    mosquitto_publish(m, NULL, d->state, n, payload, 1, true);
}

/* The rule of the lesson, with the hysteresis nightlight-device uses. */
static void apply_rule(struct device *d)
{
    if (d->manual)
        return;
    if (d->light < d->threshold)
        d->led_on = 1;
    else if (d->light > d->threshold + 20)
        d->led_on = 0;
}

static void tick(struct mosquitto *m, struct device *d)
{
    /* A slow triangle between 0 and 1000, crossing the threshold now and then. */
    const unsigned phase = d->tick++ % 400;
    d->light = (int)(phase < 200 ? phase * 5 : (400 - phase) * 5);
    apply_rule(d);
    char payload[PAYLOAD_MAX];
    const int n = snprintf(payload, sizeof payload, "{\"light\":%d}", d->light);
    mosquitto_publish(m, NULL, d->telemetry, n, payload, 0, false);
    publish_state(m, d);
}

/* The value after `key` in `json` (a bounded copy), or NULL. */
static const char *value_of(const char *json, const char *key, char *out, size_t size)
{
    const char *at = strstr(json, key);
    if (!at)
        return NULL;
    at = strchr(at + strlen(key), ':');
    if (!at)
        return NULL;
    ++at;
    while (*at == ' ' || *at == '"')
        ++at;
    size_t i = 0;
    while (at[i] && at[i] != ',' && at[i] != '}' && at[i] != '"' && i + 1 < size) {
        out[i] = at[i];
        ++i;
    }
    out[i] = '\0';
    return out;
}

static void on_message(struct mosquitto *m, void *self, const struct mosquitto_message *msg)
{
    struct device *d = self;
    if (strcmp(msg->topic, d->commands) != 0 || msg->payloadlen <= 0 || msg->payloadlen > 1024)
        return;
    char json[1025];
    memcpy(json, msg->payload, (size_t)msg->payloadlen);
    json[msg->payloadlen] = '\0';
    char value[32];
    if (value_of(json, "\"threshold\"", value, sizeof value))
        d->threshold = atoi(value);
    if (value_of(json, "\"mode\"", value, sizeof value) && strcmp(value, "auto") == 0)
        d->manual = 0;
    if (value_of(json, "\"led_on\"", value, sizeof value)) {
        d->manual = 1;
        d->led_on = strcmp(value, "true") == 0;
    }
    apply_rule(d);
    publish_state(m, d);
}

static void on_connect(struct mosquitto *m, void *self, int rc)
{
    struct device *d = self;
    if (rc != 0)
        return;
    mosquitto_publish(m, NULL, d->status, 6, "online", 1, true);
    mosquitto_subscribe(m, NULL, d->commands, 1);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *id = "nightlight";
    int port = 0;
    int interval_ms = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--id") == 0)
            id = argv[i + 1];
        else if (strcmp(argv[i], "--interval-ms") == 0)
            interval_ms = atoi(argv[i + 1]);
        else
            break;
    }
    if (port < 1 || port > 65535 || interval_ms < 1 || strlen(id) + 16 > TOPIC_MAX) {
        fprintf(stderr, "usage: %s --port N [--host H] [--id ID] [--interval-ms MS]\n", argv[0]);
        return 2;
    }

    struct device d = {.threshold = 300};
    snprintf(d.telemetry, sizeof d.telemetry, "%s/telemetry", id);
    snprintf(d.state, sizeof d.state, "%s/state", id);
    snprintf(d.commands, sizeof d.commands, "%s/commands", id);
    snprintf(d.status, sizeof d.status, "%s/status", id);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    mosquitto_lib_init();
    char client_id[TOPIC_MAX];
    snprintf(client_id, sizeof client_id, "%s-baredevice", id);
    struct mosquitto *m = mosquitto_new(client_id, true, &d);
    if (!m) {
        fprintf(stderr, "nightlight-baredevice: %s\n", strerror(errno));
        return 1;
    }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_will_set(m, d.status, 7, "offline", 1, true);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_message_callback_set(m, on_message);
    int rc = mosquitto_connect(m, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "nightlight-baredevice: cannot connect to %s:%d: %s\n", host, port,
                mosquitto_strerror(rc));
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        return 1;
    }
    long long next = now_ms(CLOCK_MONOTONIC);
    while (!stop_requested) {
        const long long now = now_ms(CLOCK_MONOTONIC);
        if (now >= next) {
            tick(m, &d);
            next += interval_ms;
            if (next <= now)
                next = now + interval_ms; /* fell behind: no burst of ticks */
        }
        const long long wait = next - now_ms(CLOCK_MONOTONIC);
        rc = mosquitto_loop(m, wait > 0 ? (int)wait : 0, 1);
        if (rc != MOSQ_ERR_SUCCESS && !stop_requested) {
            /* Lost the broker: try again a second later (the benchmark's broker does not go). */
            struct timespec pause = {1, 0};
            nanosleep(&pause, NULL);
            mosquitto_reconnect(m);
        }
    }
    mosquitto_publish(m, NULL, d.status, 7, "offline", 1, true);
    mosquitto_loop(m, 100, 1);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
