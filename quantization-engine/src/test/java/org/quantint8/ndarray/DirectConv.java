package org.quantint8.ndarray;

import ai.djl.ndarray.types.Shape;

/** A direct 2-D convolution over codes and real values, the reference for conv2d. */
final class DirectConv {

    private final int n, c, h, w, oc, cg, kh, kw, stride, pad, dilation, groups, oh, ow;
    private final int[] x;
    private final int[] wt;
    private final double[] rx;
    private final double[] rw;
    private final float[] bias;
    private final int zx;
    private final QuantizationParameters pw;

    DirectConv(QuantInt8NDArray qx, QuantInt8NDArray qw, float[] bias, int stride, int pad,
            int dilation, int groups) {
        Shape xs = qx.getShape();
        Shape ws = qw.getShape();
        n = (int) xs.get(0);
        c = (int) xs.get(1);
        h = (int) xs.get(2);
        w = (int) xs.get(3);
        oc = (int) ws.get(0);
        cg = (int) ws.get(1);
        kh = (int) ws.get(2);
        kw = (int) ws.get(3);
        this.stride = stride;
        this.pad = pad;
        this.dilation = dilation;
        this.groups = groups;
        oh = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1;
        ow = (w + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
        x = Reference.codes(qx);
        wt = Reference.codes(qw);
        rx = Reference.realValues(qx);
        rw = Reference.realValues(qw);
        this.bias = bias;
        zx = qx.getQuantization().getZeroPoint(0);
        pw = qw.getQuantization();
    }

    Shape outputShape() {
        return new Shape(n, oc, oh, ow);
    }

    int[] integer() {
        int[] out = new int[n * oc * oh * ow];
        run((o, xi, wi) -> out[o] += (x[xi] - zx) * (wt[wi] - pw.getZeroPoint(
                pw.isPerChannel() ? wi / (cg * kh * kw) : 0)));
        return out;
    }

    double[] real() {
        double[] out = new double[n * oc * oh * ow];
        run((o, xi, wi) -> out[o] += rx[xi] * rw[wi]);
        for (int i = 0; i < out.length; i++) {
            out[i] += bias[(i / (oh * ow)) % oc];
        }
        return out;
    }

    private interface Tap {
        void add(int out, int xIndex, int wIndex);
    }

    private void run(Tap tap) {
        int ocg = oc / groups;
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < oc; o++) {
                int g = o / ocg;
                for (int y = 0; y < oh; y++) {
                    for (int z = 0; z < ow; z++) {
                        int out = ((b * oc + o) * oh + y) * ow + z;
                        for (int ci = 0; ci < cg; ci++) {
                            for (int i = 0; i < kh; i++) {
                                for (int j = 0; j < kw; j++) {
                                    int yy = y * stride - pad + i * dilation;
                                    int zz = z * stride - pad + j * dilation;
                                    if (yy < 0 || yy >= h || zz < 0 || zz >= w) {
                                        continue; // padding is real zero
                                    }
                                    int xi = ((b * c + g * cg + ci) * h + yy) * w + zz;
                                    int wi = ((o * cg + ci) * kh + i) * kw + j;
                                    tap.add(out, xi, wi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
