/* The C implementation of the conformance game of docs/conformance.md;
 * games/conform-go is the reference. */
#include "../../sdk/c/rcc.h"

#define MAX_LISTED 64

typedef struct {
    char id[RCC_MAX_PLAYER_ID];
    uint8_t id_len;
    uint32_t entity;
    int32_t score, x, z;
} listed;

static listed players[MAX_LISTED];
static int nplayers;
static uint64_t seed;
static int max_players;
static uint32_t avatars;
static uint64_t frame;
static float t;
static rcc_state state;

RCC_EXPORT("init") int32_t init(const uint8_t *cfg, int32_t len) {
    uint64_t mp = 0;
    rcc_config_u64(cfg, len, "seed", &seed);
    rcc_config_u64(cfg, len, "max_players", &mp);
    max_players = mp > MAX_LISTED ? MAX_LISTED : (int)mp;
    if (max_players == 0) max_players = 4;
    return 0;
}

static int find(const uint8_t *id, int32_t len) {
    for (int i = 0; i < nplayers; i++)
        if (players[i].id_len == len && memcmp(players[i].id, id, (size_t)len) == 0) return i;
    return -1;
}

RCC_EXPORT("on_join") void on_join(const uint8_t *id, int32_t len) {
    if (len <= 0 || len > RCC_MAX_PLAYER_ID || find(id, len) >= 0 || nplayers == MAX_LISTED) return;
    int with_avatar = 0;
    for (int i = 0; i < nplayers; i++) with_avatar += players[i].entity != 0;
    listed *p = &players[nplayers++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, id, (size_t)len);
    p->id_len = (uint8_t)len;
    if (with_avatar < max_players) {
        p->entity = 100 + avatars;
        p->x = (int32_t)avatars;
        p->z = (int32_t)(seed % 5);
        avatars++;
    }
}

RCC_EXPORT("on_leave") void on_leave(const uint8_t *id, int32_t len) {
    int i = find(id, len);
    if (i < 0) return;
    memmove(&players[i], &players[i + 1], (size_t)(nplayers - i - 1) * sizeof players[0]);
    nplayers--;
}

RCC_EXPORT("on_input") void on_input(const uint8_t *id, int32_t id_len, const uint8_t *in, int32_t in_len) {
    int i = find(id, id_len);
    if (i < 0 || in_len <= 0) return;
    listed *p = &players[i];
    switch (in[0]) {
    case 'L': p->x--; break;
    case 'R': p->x++; break;
    case 'U': p->z--; break;
    case 'D': p->z++; break;
    default: p->score--; return;
    }
    p->score++;
}

RCC_EXPORT("tick") void tick(float dt_ms) {
    frame++;
    t += dt_ms / 1000.0f;
}

RCC_EXPORT("serialize_state") const uint8_t *serialize_state(void) {
    uint16_t ne = 1;
    for (int i = 0; i < nplayers; i++) ne += players[i].entity != 0;
    rcc_state_reset(&state);
    rcc_world_begin(&state, frame, ne, (uint16_t)nplayers);
    rcc_entity clock = {.id = 1, .shape = RCC_BOX, .pos = {t, (float)(seed % 1000), -1.5f},
                        .rot = {0, 0.70710677f, 0, 0.70710677f}, .scale = {0.5f, 0.25f, 2},
                        .color = {(uint8_t)seed, (uint8_t)(seed >> 8), (uint8_t)(seed >> 16), 255},
                        .label = "conform", .label_len = 7};
    rcc_world_entity(&state, &clock);
    for (int i = 0; i < nplayers; i++) {
        listed *p = &players[i];
        if (p->entity == 0) continue;
        rcc_entity e = {.id = p->entity, .shape = RCC_CAPSULE, .pos = {(float)p->x, 0.5f, (float)p->z},
                        .rot = {0, 0, 0, 1}, .scale = {1, 2, 1}, .color = {0, 128, 255, 255},
                        .label = p->id, .label_len = p->id_len};
        rcc_world_entity(&state, &e);
    }
    for (int i = 0; i < nplayers; i++)
        rcc_world_player(&state, players[i].id, players[i].id_len, players[i].entity, players[i].score);
    return rcc_state_finish(&state);
}
