//! Means, 95% confidence intervals across replications, and percentiles.

use serde::{Deserialize, Serialize};

/// A KPI across replications: the mean and the 95% confidence interval of
/// the mean (Student's t with n − 1 degrees of freedom). With one
/// replication the interval is the point itself and `half_width` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub lo: f64,
    pub hi: f64,
    /// Sample standard deviation across replications.
    pub std_dev: f64,
    pub n: usize,
}

impl Estimate {
    /// The estimate from one value per replication. NaN values (a KPI not
    /// defined in that replication, e.g. the p95 wait with no case) are left out.
    pub fn of(values: &[f64]) -> Estimate {
        let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = v.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                half_width: f64::NAN,
                lo: f64::NAN,
                hi: f64::NAN,
                std_dev: f64::NAN,
                n: 0,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let (std_dev, half_width) = if n < 2 {
            (0.0, 0.0)
        } else {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            (sd, t_975(n - 1) * sd / (n as f64).sqrt())
        };
        Estimate {
            mean,
            half_width,
            lo: mean - half_width,
            hi: mean + half_width,
            std_dev,
            n,
        }
    }
}

/// The 97.5% quantile of Student's t distribution with `df` degrees of freedom
/// (two-sided 95%). Exact table to 30, then the Cornish–Fisher expansion.
pub fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => {
            let z: f64 = 1.959_963_985;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// The `q`-quantile (0..=1) of `values` by linear interpolation between
/// order statistics (type 7, as R and numpy default). NaN for no values.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_of_known_sample() {
        // mean 5, sample sd sqrt(2.5), n 5: half-width = 2.776 * 1.5811 / 2.2361
        let e = Estimate::of(&[3.0, 4.0, 5.0, 6.0, 7.0]);
        assert!((e.mean - 5.0).abs() < 1e-12);
        assert!((e.std_dev - 2.5f64.sqrt()).abs() < 1e-12);
        let hw = 2.776 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((e.half_width - hw).abs() < 1e-9, "{}", e.half_width);
        assert!((e.lo - (5.0 - hw)).abs() < 1e-9 && (e.hi - (5.0 + hw)).abs() < 1e-9);
    }

    #[test]
    fn single_value_and_nan_are_handled() {
        let e = Estimate::of(&[4.0]);
        assert_eq!((e.mean, e.half_width, e.n), (4.0, 0.0, 1));
        let e = Estimate::of(&[f64::NAN, 2.0, 4.0]);
        assert_eq!(e.n, 2);
        assert_eq!(e.mean, 3.0);
        assert!(Estimate::of(&[]).mean.is_nan());
    }

    #[test]
    fn t_quantiles_approach_normal() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        let t40 = t_975(40);
        assert!((t40 - 2.021).abs() < 0.002, "{t40}");
        assert!((t_975(100_000) - 1.95996).abs() < 1e-3);
    }

    #[test]
    fn quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.0), 1.0);
        assert_eq!(quantile(&mut v, 1.0), 4.0);
        assert!((quantile(&mut v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&mut v, 0.95) - 3.85).abs() < 1e-12);
        assert!(quantile(&mut [], 0.5).is_nan());
    }
}
