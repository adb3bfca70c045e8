// Push constants of rope.comp; mirrored by RopePush in vulkan/sinopia-ops-tokens.c.
layout(push_constant) uniform RopePush {
    uint rows;
    uint pairs;      // rotation pairs per row: H·D/2
    uint half_dim;   // pairs per head: D/2
    uint x_off;
    uint x_stride;
    uint table_off;
    uint table_stride;
} p;
