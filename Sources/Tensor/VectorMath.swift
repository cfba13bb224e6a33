/// Vectorised transcendental functions on `SIMD16<Float>`: range reduction plus polynomial, accurate to
/// about 1–2 ulp against the correctly rounded result (checked in `VectorMathTests`). Per-lane libm calls
/// are an order of magnitude slower, so every kernel that needs exp/erf/tanh/sigmoid goes through these.
public typealias FloatVector = SIMD16<Float>

/// Width of `FloatVector`.
let vectorWidth = FloatVector.scalarCount

/// Loads 16 floats from `pointer` (no alignment needed).
@inline(__always)
func loadVector(_ pointer: UnsafePointer<Float>) -> FloatVector {
    UnsafeRawPointer(pointer).loadUnaligned(as: FloatVector.self)
}

/// Loads `count` (< 16) floats from `pointer`, the remaining lanes set to `fill`.
@inline(__always)
func loadPartialVector(_ pointer: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> FloatVector {
    // One block copy into the vector's bytes: per-lane inserts would stall on store forwarding.
    var vector = FloatVector(repeating: fill)
    withUnsafeMutableBytes(of: &vector) { bytes in
        bytes.baseAddress?.copyMemory(from: pointer, byteCount: count * MemoryLayout<Float>.stride)
    }
    return vector
}

/// Stores 16 floats at `pointer` (no alignment needed).
@inline(__always)
func storeVector(_ vector: FloatVector, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: FloatVector.self)
}

/// Stores the first `count` (< 16) lanes of `vector` at `pointer`.
@inline(__always)
func storePartialVector(_ vector: FloatVector, _ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
    withUnsafeBytes(of: vector) { bytes in
        if let base = bytes.baseAddress { UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: count * 4) }
    }
}

@inline(__always)
private func bits(_ vector: FloatVector) -> SIMD16<UInt32> { unsafeBitCast(vector, to: SIMD16<UInt32>.self) }

@inline(__always)
private func floats(_ bits: SIMD16<UInt32>) -> FloatVector { unsafeBitCast(bits, to: FloatVector.self) }

/// |x| lane by lane.
@inline(__always)
func vectorAbs(_ x: FloatVector) -> FloatVector { floats(bits(x) & 0x7FFF_FFFF) }

private let expUpper: Float = 88.3762626647949
private let expLower: Float = -87.3365447505531

/// e^x for x already inside [expLower, expUpper] (Cephes-style: n = round(x·log2 e), two-part ln 2
/// reduction, degree-6 polynomial evaluated by Estrin's scheme so the lanes' dependency chains stay short,
/// 2^n put together in the exponent bits).
@inline(__always)
private func expInRange(_ x: FloatVector) -> FloatVector {
    let log2e: Float = 1.44269504088896341
    let ln2High: Float = 0.693359375
    let ln2Low: Float = -2.12194440e-4
    let roundingMagic: Float = 12_582_912  // 1.5·2^23: adding it rounds to the nearest integer
    let shifted = x * log2e + roundingMagic
    let n = shifted - roundingMagic
    let r = (x - n * ln2High) - n * ln2Low
    // (e^r − 1 − r)/r² by a degree-4 polynomial, minimax-fitted here for relative error 3e-9 on |r| ≤ ln2/2.
    let c4: Float = 1.3814537087e-3, c3: Float = 8.3687445149e-3, c2: Float = 4.1668388993e-2
    let c1: Float = 1.6666521132e-1, c0: Float = 4.9999994040e-1
    let r2 = r * r
    let p = (r * c1 + c0) + r2 * ((r * c3 + c2) + r2 * c4)
    let one: Float = 1
    let polynomial = (r2 * p + r) + one  // small terms first: adding 1 last keeps r's low bits
    // The mantissa of `shifted` holds 2^22 + n; shifted left by 23 (wrapping) only n is left, in the
    // exponent field, and adding the bias gives the bits of 2^n.
    let exponentBias = SIMD16<UInt32>(repeating: 127 &<< 23)
    return polynomial * floats((bits(shifted) &<< 23) &+ exponentBias)
}

/// e^x lane by lane. Results below 2^-126 flush to 0; x ≥ 88.376 gives +∞.
@inline(__always)
public func vectorExp(_ x: FloatVector) -> FloatVector {
    let clamped = x.replacing(with: expUpper, where: x .> expUpper).replacing(with: expLower, where: x .< expLower)
    return expInRange(clamped).replacing(with: 0, where: x .< expLower).replacing(with: .infinity, where: x .> expUpper)
}

/// e^x for x ≤ 0 (softmax after subtracting the row maximum, Gaussian tails): `vectorExp` without the
/// overflow checks.
@inline(__always)
func vectorExpNonPositive(_ x: FloatVector) -> FloatVector {
    expInRange(x.replacing(with: expLower, where: x .< expLower)).replacing(with: 0, where: x .< expLower)
}

/// tanh x lane by lane: odd polynomial for |x| < 0.625, else 1 − 2/(e^{2|x|} + 1) with the sign restored.
@inline(__always)
public func vectorTanh(_ x: FloatVector) -> FloatVector {
    let magnitude = vectorAbs(x)
    let s = x * x
    let t4: Float = -5.70498872745e-3, t3: Float = 2.06390887954e-2, t2: Float = -5.37397155531e-2
    let t1: Float = 1.33314422036e-1, t0: Float = -3.33332819422e-1
    var p = s * t4 + t3
    p = p * s + t2
    p = p * s + t1
    p = p * s + t0
    let small = p * s * x + x
    let two: Float = 2
    let one: Float = 1
    let e = vectorExp(magnitude * two)
    let large = one - two / (e + one)
    let signed = floats(bits(large) | (bits(x) & 0x8000_0000))
    return signed.replacing(with: small, where: magnitude .< 0.625)
}

/// The logistic function 1/(1 + e^-x) lane by lane.
@inline(__always)
public func vectorSigmoid(_ x: FloatVector) -> FloatVector {
    // e^-x saturates at e^expUpper (the quotient then underflows; the select makes it exactly 0) and
    // flushes to 2^-126 below expLower (the quotient rounds to 1), so only one select is needed.
    let minusX = -x
    let clamped = minusX.replacing(with: expUpper, where: minusX .> expUpper).replacing(with: expLower, where: minusX .< expLower)
    let one: Float = 1
    return (one / (one + expInRange(clamped))).replacing(with: 0, where: minusX .> expUpper)
}

/// c₀ + c₁x + … + c₆x⁶ lane by lane by Horner's rule (coefficients lowest first).
@inline(__always)
private func horner6(_ x: FloatVector, _ c: (Float, Float, Float, Float, Float, Float, Float)) -> FloatVector {
    var p = x * c.6 + c.5
    p = p * x + c.4
    p = p * x + c.3
    p = p * x + c.2
    p = p * x + c.1
    return p * x + c.0
}

/// erf x lane by lane: x·P(x²) for |x| < 0.921875, else 1 − e^{−x²}·Q(|x|), saturating to ±1 past 3.92.
@inline(__always)
public func vectorErf(_ x: FloatVector) -> FloatVector {
    let magnitude = vectorAbs(x)
    let s = x * x
    let small = x * horner6(s, (1.1283791669006575, -0.3761263494358951, 0.1128370843912057, -0.0268599577151881,
                                0.0052021769538909525, -0.0008153790876179734, 8.411063972467919e-05))

    let limit: Float = 3.92
    let t = magnitude.replacing(with: limit, where: magnitude .> limit)
    let q10: Float = 1.7059082280234156e-06, q9: Float = -4.9188409959211886e-05, q8: Float = 0.0006412462720695275
    let q7: Float = -0.005009001898183626, q6: Float = 0.026218255167915944, q5: Float = -0.09755495180786758
    let q4: Float = 0.26761886298780524, q3: Float = -0.5549762410950971, q2: Float = 0.8847671466744765
    let q1: Float = -1.0874697333518715, q0: Float = 0.9933955852690619
    var q = t * q10 + q9
    q = q * t + q8
    q = q * t + q7
    q = q * t + q6
    q = q * t + q5
    q = q * t + q4
    q = q * t + q3
    q = q * t + q2
    q = q * t + q1
    q = q * t + q0
    let one: Float = 1
    var large = one - vectorExpNonPositive(-(t * t)) * q
    large = large.replacing(with: 1, where: magnitude .> limit)
    let signed = floats(bits(large) | (bits(x) & 0x8000_0000))
    return signed.replacing(with: small, where: magnitude .< 0.921875)
}

/// Φ(x), the standard normal CDF, lane by lane, to an absolute error below 2e-7 (GELU needs 3e-7):
/// Φ(x) = ½ + x·P(x²)/Q(x²) on |x| ≤ 5.2, a rational approximation (P degree 6, Q degree 4 in x²) fitted
/// here by iteratively reweighted least squares to 1e-8 in exact arithmetic (the rest is fp32 rounding);
/// 0 and 1 beyond, where Φ is within 1e-7 of them. No exp, one division: half the work of the erfc form.
@inline(__always)
public func vectorNormalCDF(_ x: FloatVector) -> FloatVector {
    let limit: Float = 5.2
    let clamped = x.replacing(with: limit, where: x .> limit).replacing(with: -limit, where: x .< -limit)
    let s = clamped * clamped
    let p = horner6(s, (3.989422156e-01, 3.265119725e-02, 4.298401694e-03, 1.379430770e-04, 2.954120853e-06,
                        -2.287774525e-08, 1.267962397e-10))
    let q1: Float = 2.485099607e-01, q2: Float = 2.719504240e-02, q3: Float = 1.639701772e-03
    let q4: Float = 5.211092177e-05
    var q = s * q4 + q3
    q = q * s + q2
    q = q * s + q1
    let one: Float = 1
    q = q * s + one
    let half: Float = 0.5
    let phi = (clamped * p) / q + half
    return phi.replacing(with: 0, where: x .< -limit).replacing(with: 1, where: x .> limit)
}

/// Scalar front-ends to the vector functions (same results as the vector lanes).
public enum VectorMath {
    /// e^x as `vectorExp` computes it.
    public static func exp(_ x: Float) -> Float { vectorExp(FloatVector(repeating: x))[0] }
    /// tanh x as `vectorTanh` computes it.
    public static func tanh(_ x: Float) -> Float { vectorTanh(FloatVector(repeating: x))[0] }
    /// erf x as `vectorErf` computes it.
    public static func erf(_ x: Float) -> Float { vectorErf(FloatVector(repeating: x))[0] }
    /// Φ(x) as `vectorNormalCDF` computes it.
    public static func normalCDF(_ x: Float) -> Float { vectorNormalCDF(FloatVector(repeating: x))[0] }
    /// 1/(1 + e^-x) as `vectorSigmoid` computes it.
    public static func sigmoid(_ x: Float) -> Float { vectorSigmoid(FloatVector(repeating: x))[0] }
}
