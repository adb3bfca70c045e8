// Push constants of layer-norm.comp; mirrored by LayerNormPush in vulkan/sinopia-ops-norm.c.
layout(push_constant) uniform LayerNormPush {
    uint rows;
    uint cols;
    uint x_off;
    uint x_stride;
    uint y_off;
    uint y_stride;
    uint weight_off;
    uint bias_off;
    uint shift_off;
    uint scale_off;
    uint has_weight;
    uint has_bias;
    uint has_shift;
    uint has_scale;
    float eps;
    // Rows from `split` on take the second stream's modulation (FLUX's double blocks).
    uint split;
    uint shift_off_b;
    uint scale_off_b;
} p;
