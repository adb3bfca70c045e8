// Push constants of elementwise.comp; mirrored by ElementwisePush in vulkan/sinopia-ops-elementwise.c.
layout(push_constant) uniform ElementwisePush {
    uint rows;
    uint cols;
    uint a_off;
    uint a_stride;   // 0: row broadcast
    uint b_off;
    uint b_stride;
    uint c_off;
    uint c_stride;
    uint y_off;
    uint y_stride;
    uint has_b;
    uint has_c;
    uint act;
    float scale;
} p;
