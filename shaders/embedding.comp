#version 450
#extension GL_GOOGLE_include_directive : require
// Table lookup, one output element per invocation. The table is read as f32 or f16
// through the view's format, or as raw bf16 bits widened by hand (-DBF16).
#include "common.glsl"
#include "embedding-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform usamplerBuffer ids;
#ifdef BF16
layout(binding = 1) uniform usamplerBuffer table;
#else
layout(binding = 1) uniform samplerBuffer table;
#endif
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.n * p.dim)
        return;
    uint r = i / p.dim, c = i % p.dim;
    uint id = texelFetch(ids, int(p.ids_off + r)).x;
    // The host validates ids; an out-of-range one must still not read outside the table.
    if (id >= p.vocab)
        id = 0u;
    int at = int(p.table_off + id * p.table_stride + c);
#ifdef BF16
    float v = sinopia_bf16(texelFetch(table, at).x);
#else
    float v = texelFetch(table, at).x;
#endif
    y[p.y_off + r * p.y_stride + c] = v;
}
