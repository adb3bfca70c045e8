// Push constants of transpose.comp; mirrored by TransposePush in vulkan/sinopia-ops-tokens.c.
layout(push_constant) uniform TransposePush {
    uint rows;       // of x
    uint cols;
    uint x_off;
    uint x_stride;
    uint y_off;
    uint y_stride;
} p;
