// Push constants of conv2d.comp; mirrored by Conv2dPush in vulkan/sinopia-ops-conv.c.
layout(push_constant) uniform Conv2dPush {
    uint cin;
    uint cout;
    uint height;        // input
    uint width;
    uint out_height;
    uint out_width;
    uint pad_top;
    uint pad_left;
    uint x_off;         // elements; multiples of 4 in the vec4 variant
    uint x_stride;
    uint w_off;
    uint w_stride;
    uint bias_off;
    uint y_off;
    uint y_stride;
    uint has_bias;
    uint accumulate;
    uint strips_per_row; // ceil(out_width / PIX)
} p;
