// Push constants of gated-gelu.comp; mirrored by GatedGeluPush in vulkan/sinopia-ops-tokens.c.
layout(push_constant) uniform GatedGeluPush {
    uint rows;
    uint cols;
    uint a_off;
    uint a_stride;
    uint b_off;
    uint b_stride;
    uint y_off;
    uint y_stride;
} p;
