// Package des is nDPI 4.2's double exponential smoothing (ndpi_des_init,
// ndpi_des_add_value in src/lib/ndpi_analyze.c): a forecast of each new
// value from the values before it, and a confidence band around the
// forecast, so a value far from what its history predicts can be flagged.
//
// The arithmetic is libndpi's, operation for operation, so the forecasts
// and bands equal what ntopng computes with the library; the golden file
// made by tools/ndpidata/ndpides.c from the real libndpi checks this.
package des

import "math"

// maxSquareErrorIterations is nDPI's MAX_SQUARE_ERROR_ITERATIONS: the
// square error is summed over windows of this many values, and the band
// uses the previous window's sum plus the current one's.
const maxSquareErrorIterations = 64

// DES is one smoothed series (struct ndpi_des_struct). The zero value is
// not usable: make one with New.
type DES struct {
	alpha, beta, ro float64
	// The square errors of the values since the last roll-up, which
	// replace sumSquareError when a window of 64 values is complete.
	prevSumSquareError float64
	numValuesRollup    uint8
	numValues          uint32
	sumSquareError     float64
	lastForecast       float64
	lastTrend          float64
	lastValue          float64
}

// New is ndpi_des_init: alpha smooths the level, beta the trend (both in
// 0..1, higher forgets faster); significance (0..1, 0.05 when outside)
// sets the band's width as the two-sided normal quantile of 1-s/2. It is a
// float32 because nDPI takes a C float: 0.05 is really 0.0500000007.
func New(alpha, beta float64, significance float32) *DES {
	d := &DES{}
	d.Init(alpha, beta, significance)
	return d
}

// Init resets d as New makes it (for DES kept by value).
func (d *DES) Init(alpha, beta float64, significance float32) {
	*d = DES{alpha: alpha, beta: beta}
	if significance < 0 || significance > 1 {
		significance = 0.05
	}
	d.ro = normalCDFInverse(1 - float64(significance)/2.)
}

// Add is ndpi_des_add_value: it takes the next value and returns its
// forecast (the smoothed level, which already includes the value) and the
// band: values outside forecast±band are anomalies. ok is false for the
// first value, which only starts the series (forecast is the value itself,
// band 0), true from the second on.
func (d *DES) Add(value uint64) (forecast, band float64, ok bool) {
	v := float64(value)
	if d.numValues == 0 {
		forecast, d.lastTrend = v, 0
	} else {
		// The float64 conversions round each product, as C does on
		// amd64: Go may otherwise fuse a*b+c into one rounding.
		forecast = float64(d.alpha*v) + float64((1-d.alpha)*(d.lastForecast+d.lastTrend))
		d.lastTrend = float64(d.beta*(forecast-d.lastForecast)) + float64((1-d.beta)*d.lastTrend)
	}
	e := v - forecast
	sq := e * e
	d.sumSquareError += sq
	d.prevSumSquareError += sq
	if d.numValues > 0 {
		// nDPI divides by the number of values summed so far, but once
		// past the first window by (n%64)+65: one more than the previous
		// window's values plus the current one's, as it has them.
		var obs uint32
		if d.numValues < maxSquareErrorIterations {
			obs = d.numValues + 1
		} else {
			obs = (d.numValues % maxSquareErrorIterations) + maxSquareErrorIterations + 1
		}
		band = d.ro * math.Sqrt(d.sumSquareError/float64(obs))
		ok = true
	}
	d.numValues++
	d.lastValue, d.lastForecast = v, forecast
	d.numValuesRollup++
	if d.numValuesRollup == maxSquareErrorIterations {
		d.sumSquareError = d.prevSumSquareError
		d.numValuesRollup, d.prevSumSquareError = 0, 0
	}
	return forecast, band, ok
}

// Values is how many values the series has taken.
func (d *DES) Values() uint32 { return d.numValues }

// rationalApproximation is Abramowitz and Stegun's formula 26.2.23, as
// nDPI has it (absolute error below 4.5e-4).
func rationalApproximation(t float64) float64 {
	c := [3]float64{2.515517, 0.802853, 0.010328}
	dd := [3]float64{1.432788, 0.189269, 0.001308}
	// Each product rounded on its own (no fused multiply-add), as in C.
	num := float64(float64(float64(c[2]*t)+c[1])*t) + c[0]
	den := float64(float64(float64(float64(float64(dd[2]*t)+dd[1])*t)+dd[0]) * t)
	return t - num/(den+1.0)
}

// normalCDFInverse is nDPI's ndpi_normal_cdf_inverse (0 outside (0,1)).
func normalCDFInverse(p float64) float64 {
	if p <= 0.0 || p >= 1.0 {
		return 0
	}
	if p < 0.5 {
		return -rationalApproximation(math.Sqrt(-2.0 * math.Log(p)))
	}
	return rationalApproximation(math.Sqrt(-2.0 * math.Log(1-p)))
}
