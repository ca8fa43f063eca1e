/*
 * rcc.h: what a C game for RCC needs, in one header with no dependency but
 * wasi-libc: the argument buffer behind the alloc export, the length-
 * prefixed state buffer behind serialize_state, a reader of numbers in the
 * init config, and the world snapshot encoder (the wire format of
 * pkg/world, version 1, byte for byte).
 *
 * Include it in exactly one .c file of the game, then define the exports
 * (see games/c-pong/pong.c and docs/abi.md):
 *
 *   RCC_EXPORT("init") int32_t init(const uint8_t *cfg, int32_t len);
 *   RCC_EXPORT("tick") void tick(float dt_ms);
 *   RCC_EXPORT("on_input") void on_input(const uint8_t *p, int32_t p_len, const uint8_t *in, int32_t in_len);
 *   RCC_EXPORT("serialize_state") const uint8_t *serialize_state(void);
 *
 * alloc is defined here. Build: rccctl game build DIR, which runs
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -o game.wasm *.c
 */
#ifndef RCC_H
#define RCC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RCC_EXPORT(name) __attribute__((export_name(name)))

/* Shapes of the world format. */
enum { RCC_BOX = 1, RCC_SPHERE, RCC_CYLINDER, RCC_CAPSULE, RCC_PLANE, RCC_CONE };

#define RCC_MAX_LABEL 128
#define RCC_MAX_PLAYER_ID 128

/* ---- alloc: one buffer, reused across calls, grown when too small. */

static uint8_t *rcc_args;
static size_t rcc_args_cap;

RCC_EXPORT("alloc") uint8_t *alloc(int32_t len) {
    if (len < 0) return NULL;
    if ((size_t)len > rcc_args_cap || rcc_args == NULL) {
        size_t c = rcc_args_cap * 2;
        if (c < (size_t)len) c = (size_t)len;
        if (c < 256) c = 256;
        uint8_t *b = realloc(rcc_args, c);
        if (b == NULL) return NULL;
        rcc_args = b;
        rcc_args_cap = c;
    }
    return rcc_args;
}

/* ---- The state buffer: a u32 little-endian length, then the state. */

typedef struct {
    uint8_t *buf; /* buf[0..4) is the length prefix */
    size_t len;   /* bytes of state after the prefix */
    size_t cap;   /* bytes of state the buffer holds */
    int failed;   /* set when memory ran out; the state is then empty */
} rcc_state;

/* rcc_state_reset starts a new state, keeping the buffer. */
static void rcc_state_reset(rcc_state *s) { s->len = 0; s->failed = 0; }

static uint8_t *rcc_state_grow(rcc_state *s, size_t n) {
    if (s->failed) return NULL;
    if (s->len + n > s->cap) {
        size_t c = s->cap * 2;
        if (c < s->len + n) c = s->len + n;
        if (c < 1024) c = 1024;
        uint8_t *b = realloc(s->buf, c + 4);
        if (b == NULL) { s->failed = 1; return NULL; }
        s->buf = b;
        s->cap = c;
    }
    uint8_t *p = s->buf + 4 + s->len;
    s->len += n;
    return p;
}

/* rcc_state_finish writes the length prefix and returns what
 * serialize_state returns. */
static const uint8_t *rcc_state_finish(rcc_state *s) {
    if (s->buf == NULL && rcc_state_grow(s, 0) == NULL) return NULL;
    if (s->failed) s->len = 0;
    uint32_t n = (uint32_t)s->len;
    memcpy(s->buf, &n, 4); /* wasm32 is little-endian */
    return s->buf;
}

static void rcc_put_u16(rcc_state *s, uint16_t v) { uint8_t *p = rcc_state_grow(s, 2); if (p) memcpy(p, &v, 2); }
static void rcc_put_u32(rcc_state *s, uint32_t v) { uint8_t *p = rcc_state_grow(s, 4); if (p) memcpy(p, &v, 4); }
static void rcc_put_u64(rcc_state *s, uint64_t v) { uint8_t *p = rcc_state_grow(s, 8); if (p) memcpy(p, &v, 8); }
static void rcc_put_f32(rcc_state *s, float v) { uint8_t *p = rcc_state_grow(s, 4); if (p) memcpy(p, &v, 4); }
static void rcc_put_u8(rcc_state *s, uint8_t v) { uint8_t *p = rcc_state_grow(s, 1); if (p) *p = v; }
static void rcc_put_bytes(rcc_state *s, const void *b, size_t n) { uint8_t *p = rcc_state_grow(s, n); if (p && n) memcpy(p, b, n); }

/* ---- The world snapshot encoder (pkg/world, docs/world.md). */

typedef struct { float x, y, z; } rcc_vec3;
typedef struct { float x, y, z, w; } rcc_quat;
typedef struct { uint8_t r, g, b, a; } rcc_color;

typedef struct {
    uint32_t id;    /* nonzero */
    uint8_t shape;  /* RCC_BOX ... RCC_CONE */
    rcc_vec3 pos;
    rcc_quat rot;   /* {0,0,0,1} is no rotation */
    rcc_vec3 scale;
    rcc_color color;
    const char *label; /* UTF-8, label_len bytes (at most RCC_MAX_LABEL) */
    uint8_t label_len;
} rcc_entity;

/* rcc_world_begin writes the header of a snapshot of frame with ne entities
 * and np players; the caller then writes exactly ne rcc_world_entity and
 * np rcc_world_player calls, in that order. */
static void rcc_world_begin(rcc_state *s, uint64_t frame, uint16_t ne, uint16_t np) {
    rcc_put_bytes(s, "RCCW", 4);
    rcc_put_u16(s, 1); /* version */
    rcc_put_u16(s, 0); /* flags */
    rcc_put_u64(s, frame);
    rcc_put_u16(s, ne);
    rcc_put_u16(s, np);
}

static void rcc_world_entity(rcc_state *s, const rcc_entity *e) {
    rcc_put_u32(s, e->id);
    rcc_put_u8(s, e->shape);
    rcc_put_u8(s, e->label_len);
    rcc_put_f32(s, e->pos.x); rcc_put_f32(s, e->pos.y); rcc_put_f32(s, e->pos.z);
    rcc_put_f32(s, e->rot.x); rcc_put_f32(s, e->rot.y); rcc_put_f32(s, e->rot.z); rcc_put_f32(s, e->rot.w);
    rcc_put_f32(s, e->scale.x); rcc_put_f32(s, e->scale.y); rcc_put_f32(s, e->scale.z);
    rcc_put_u8(s, e->color.r); rcc_put_u8(s, e->color.g); rcc_put_u8(s, e->color.b); rcc_put_u8(s, e->color.a);
    rcc_put_bytes(s, e->label, e->label_len);
}

/* rcc_world_player writes a player record: its id (1 to RCC_MAX_PLAYER_ID
 * bytes of UTF-8), the entity it controls (0 for none) and its score. */
static void rcc_world_player(rcc_state *s, const char *id, uint8_t id_len, uint32_t entity, int32_t score) {
    rcc_put_u32(s, entity);
    rcc_put_u32(s, (uint32_t)score);
    rcc_put_u8(s, id_len);
    rcc_put_bytes(s, id, id_len);
}

/* ---- The standard controller input (world.Controller, 10 bytes, tag 0xC1),
 * which generic clients such as rcc-view send. */

#include <math.h>

/* rcc_axis reads an int8 axis (-127..127, -128 counts as -127) as -1..1. */
static float rcc_axis(uint8_t b) {
    int v = (int8_t)b;
    if (v < -127) v = -127;
    return (float)v / 127.0f;
}

/* rcc_controller_move reads a controller input and stores its horizontal
 * movement in world space in *x and *z (forward at yaw 0 is -Z), as
 * world.Controller.WorldMove does; it returns 0, or -1 when in is not a
 * controller input. */
static int rcc_controller_move(const uint8_t *in, int32_t len, float *x, float *z) {
    if (len != 10 || in[0] != 0xC1) return -1;
    float mx = rcc_axis(in[1]), mz = rcc_axis(in[3]);
    int16_t yaw;
    memcpy(&yaw, in + 4, 2);
    double a = (double)yaw * (2 * 3.14159265358979323846 / 65536);
    float sn = (float)sin(a), cs = (float)cos(a);
    *x = mx * cs - mz * sn;
    *z = -mx * sn - mz * cs;
    return 0;
}

/* ---- The init config: a JSON object; this reads its top-level numbers. */

/* rcc_config_u64 finds "key": N (or "key": "N") at the top level of the
 * JSON object cfg and stores N in *out; it returns 0 when found, -1 when
 * the key is missing or not an unsigned integer. Strings are skipped whole,
 * so a key inside a string or a nested object (params) is not matched. */
static int rcc_config_u64(const uint8_t *cfg, int32_t len, const char *key, uint64_t *out) {
    size_t klen = strlen(key);
    int depth = 0;
    for (int32_t i = 0; i < len; i++) {
        uint8_t c = cfg[i];
        if (c == '{' || c == '[') { depth++; continue; }
        if (c == '}' || c == ']') { depth--; continue; }
        if (c != '"') continue;
        int32_t start = ++i;
        while (i < len && cfg[i] != '"') { if (cfg[i] == '\\') i++; i++; }
        if (i >= len) return -1;
        int32_t end = i;
        if (depth != 1 || (size_t)(end - start) != klen || memcmp(cfg + start, key, klen) != 0) continue;
        int32_t j = end + 1;
        while (j < len && (cfg[j] == ' ' || cfg[j] == '\t' || cfg[j] == '\n' || cfg[j] == '\r')) j++;
        if (j >= len || cfg[j] != ':') continue; /* a string value, not a key */
        j++;
        while (j < len && (cfg[j] == ' ' || cfg[j] == '\t' || cfg[j] == '\n' || cfg[j] == '\r')) j++;
        int quoted = j < len && cfg[j] == '"';
        if (quoted) j++;
        if (j >= len || cfg[j] < '0' || cfg[j] > '9') return -1;
        uint64_t v = 0;
        while (j < len && cfg[j] >= '0' && cfg[j] <= '9') {
            uint64_t d = (uint64_t)(cfg[j] - '0');
            if (v > (UINT64_MAX - d) / 10) return -1;
            v = v * 10 + d;
            j++;
        }
        if (quoted && (j >= len || cfg[j] != '"')) return -1;
        *out = v;
        return 0;
    }
    return -1;
}

#endif /* RCC_H */
