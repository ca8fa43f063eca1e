/*
 * coins: a small multiplayer game in C for RCC. Players walk on a 20 m
 * square floor and pick up coins; each coin is worth one point and
 * reappears elsewhere. Coin places are drawn from the instance seed, so the
 * same seed and inputs give the same state bytes.
 *
 * Input: 3 bytes, as arena's: int8 x axis, int8 z axis (-127..127), flags
 * (ignored); or the standard controller input (world.Controller, as
 * rcc-view sends). The latest input of a player holds until the next one.
 * State: a world snapshot (pkg/world): the floor (id 1), the coins (ids
 * 10..), one capsule per player (ids 100..) labelled with the player id,
 * and the players with their scores. Players beyond MAX_PLAYERS watch.
 */
#include "../../sdk/c/rcc.h"

#define MAX_PLAYERS 16
#define MAX_WATCHERS 48
#define COINS 5
#define HALF 10.0f
#define SPEED 6.0f
#define PICKUP 1.0f

typedef struct {
    int used;
    char id[RCC_MAX_PLAYER_ID];
    uint8_t id_len;
    uint32_t entity; /* 0 for a watcher */
    int32_t score;
    float x, z, ax, az;
} player;

static player players[MAX_PLAYERS + MAX_WATCHERS];
static float coin_x[COINS], coin_z[COINS];
static uint64_t rng;
static uint64_t frame;
static rcc_state state;

/* next is xorshift64*, the only randomness of the game. */
static uint64_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

/* place returns a coordinate in [-HALF+1, HALF-1). */
static float place(void) {
    return (float)(next() >> 40) / (float)(1 << 24) * (2 * HALF - 2) - (HALF - 1);
}

static void respawn(int i) {
    coin_x[i] = place();
    coin_z[i] = place();
}

RCC_EXPORT("init") int32_t init(const uint8_t *cfg, int32_t len) {
    uint64_t seed = 0;
    rcc_config_u64(cfg, len, "seed", &seed); /* a missing seed is seed 0 */
    rng = seed ^ 0x9e3779b97f4a7c15ull;
    if (rng == 0) rng = 1;
    for (int i = 0; i < COINS; i++) respawn(i);
    return 0;
}

static player *find(const uint8_t *id, int32_t len) {
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        player *p = &players[i];
        if (p->used && p->id_len == len && memcmp(p->id, id, (size_t)len) == 0) return p;
    }
    return NULL;
}

RCC_EXPORT("on_join") void on_join(const uint8_t *id, int32_t len) {
    if (len <= 0 || len > RCC_MAX_PLAYER_ID || find(id, len)) return;
    int avatars = 0, slot = -1;
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        if (players[i].used) avatars += players[i].entity != 0;
        else if (slot < 0) slot = i;
    }
    if (slot < 0) return; /* full: the player only watches what others send */
    player *p = &players[slot];
    memset(p, 0, sizeof *p);
    p->used = 1;
    memcpy(p->id, id, (size_t)len);
    p->id_len = (uint8_t)len;
    if (avatars < MAX_PLAYERS) {
        p->entity = 100 + (uint32_t)slot;
        p->x = place();
        p->z = place();
    }
}

RCC_EXPORT("on_leave") void on_leave(const uint8_t *id, int32_t len) {
    player *p = find(id, len);
    if (p) p->used = 0;
}

RCC_EXPORT("on_input") void on_input(const uint8_t *id, int32_t id_len, const uint8_t *in, int32_t in_len) {
    player *p = find(id, id_len);
    if (p == NULL) return;
    if (rcc_controller_move(in, in_len, &p->ax, &p->az) == 0) return;
    if (in_len != 3) return; /* clients send arbitrary bytes */
    p->ax = rcc_axis(in[0]);
    p->az = rcc_axis(in[1]);
}

static float clamp(float v) { return v < -HALF ? -HALF : v > HALF ? HALF : v; }

RCC_EXPORT("tick") void tick(float dt_ms) {
    float dt = dt_ms / 1000.0f;
    frame++;
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        player *p = &players[i];
        if (!p->used || p->entity == 0) continue;
        p->x = clamp(p->x + p->ax * SPEED * dt);
        p->z = clamp(p->z + p->az * SPEED * dt);
        for (int c = 0; c < COINS; c++) {
            float dx = p->x - coin_x[c], dz = p->z - coin_z[c];
            if (dx * dx + dz * dz < PICKUP * PICKUP) {
                p->score++;
                respawn(c);
            }
        }
    }
}

RCC_EXPORT("serialize_state") const uint8_t *serialize_state(void) {
    uint16_t ne = 1 + COINS, np = 0;
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        if (!players[i].used) continue;
        np++;
        ne += players[i].entity != 0;
    }
    rcc_state_reset(&state);
    rcc_world_begin(&state, frame, ne, np);
    rcc_entity floor = {.id = 1, .shape = RCC_PLANE, .rot = {0, 0, 0, 1}, .scale = {2 * HALF, 1, 2 * HALF}, .color = {70, 90, 70, 255}};
    rcc_world_entity(&state, &floor);
    for (int c = 0; c < COINS; c++) {
        rcc_entity coin = {.id = 10 + (uint32_t)c, .shape = RCC_CYLINDER, .pos = {coin_x[c], 0.3f, coin_z[c]},
                           .rot = {0, 0, 0, 1}, .scale = {0.6f, 0.1f, 0.6f}, .color = {255, 200, 0, 255}};
        rcc_world_entity(&state, &coin);
    }
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        player *p = &players[i];
        if (!p->used || p->entity == 0) continue;
        rcc_entity e = {.id = p->entity, .shape = RCC_CAPSULE, .pos = {p->x, 0.9f, p->z}, .rot = {0, 0, 0, 1},
                        .scale = {0.8f, 1.8f, 0.8f}, .color = {60, 120, 230, 255}, .label = p->id, .label_len = p->id_len};
        rcc_world_entity(&state, &e);
    }
    for (int i = 0; i < MAX_PLAYERS + MAX_WATCHERS; i++) {
        player *p = &players[i];
        if (p->used) rcc_world_player(&state, p->id, p->id_len, p->entity, p->score);
    }
    return rcc_state_finish(&state);
}
