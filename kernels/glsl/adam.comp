#version 430
// AdamUpdate: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − α·m/(√v + ε), with the new m
// and v. Each invocation reads its element of every operand before writing any.
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) buffer P { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) buffer V { float v[]; };

layout(location = 0) uniform uint n;
layout(location = 1) uniform float alpha;
layout(location = 2) uniform float beta1;
layout(location = 3) uniform float beta2;
layout(location = 4) uniform float eps;

void main() {
	FOR_EACH_INDEX(i, n) {
		float gi = g[i];
		float mi = beta1 * m[i] + (1.0 - beta1) * gi;
		float vi = beta2 * v[i] + (1.0 - beta2) * (gi * gi);
		m[i] = mi;
		v[i] = vi;
		p[i] = p[i] - alpha * mi / (sqrt(vi) + eps);
	}
}
