//! The check keys of a title's debt reference, as the DGFiP's ORMC technical annex describes
//! them and Noethys computes them: `Cle1` modulo 11 over the collectivité, the bordereau, the
//! year, the period and the debt number; `Cle2` modulo 23 over the year, the period, « 00 » and
//! the debt number.

/// The letters `Cle2` takes, 23 of them (no I, O nor Z).
const MOD23: &[u8; 23] = b"ABCDEFGHJKLMNPQRSTUVWXY";

/// The debt number on 13 digits, zeros on the left.
fn dette13(num_dette: &str) -> String {
    format!("{num_dette:0>13}")
}

/// `Cle1`: the digits of `cod_col`, `id_bord`, the year's last two digits, the period and the
/// debt number on 13 digits, read from the right with the weights 2 to 7 over and over (a
/// letter counts 0); the key is 11 less the sum modulo 11, and 1 when that is 10 or 11.
pub fn cle1(cod_col: &str, id_bord: u32, exer: i32, per: u8, num_dette: &str) -> u8 {
    let text = format!("{cod_col}{id_bord}{:02}{per}{}", exer.rem_euclid(100), dette13(num_dette));
    let sum: u32 = text
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].into_iter().cycle())
        .map(|(b, w)| if b.is_ascii_digit() { u32::from(b - b'0') * w } else { 0 })
        .sum();
    let key = 11 - sum % 11;
    if key > 9 { 1 } else { u8::try_from(key).unwrap_or(1) }
}

/// `Cle2`: the number made of the year's last two digits, the period, « 00 » and the debt
/// number on 13 digits, modulo 23, as a letter of [`MOD23`].
pub fn cle2(exer: i32, per: u8, num_dette: &str) -> char {
    let text = format!("{:02}{per}00{}", exer.rem_euclid(100), dette13(num_dette));
    let rest = text.bytes().fold(0u64, |r, b| (r * 10 + u64::from(b.wrapping_sub(b'0') % 10)) % 23);
    char::from(MOD23[usize::try_from(rest).unwrap_or(0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: « 078 » « 12 » « 26 » « 1 » « 0002026000123 » is the digits
    /// 0781226 1 0002026000123; read from the right with weights 2,3,4,5,6,7,2,3…:
    /// 3·2 + 2·3 + 1·4 + 6·2 + 2·3 + 2·5 + 1·3 + 6·4 + 2·5 + 2·6 + 1·7 + 8·2 + 7·3 (the zeros
    /// aside) = 137; 137 mod 11 = 5, key 11 − 5 = 6.
    #[test]
    fn cle1_worked_example() {
        assert_eq!(cle1("078", 12, 2026, 1, "2026000123"), 6);
    }

    /// 11 − 0 and 11 − 1 are not digits: the key is 1 for both.
    #[test]
    fn cle1_of_a_sum_divisible_by_11_or_one_more_is_1() {
        // « 0 » « 0 » « 00 » « 0 » and 13 zeros: a sum of 0, so 11 → 1.
        assert_eq!(cle1("0", 0, 2000, 0, "0"), 1);
        // Debt « 5 »: 5·2 = 10, 10 mod 11 = 10, key 1; debt « 6 »: 12 mod 11 = 1, key 10 → 1.
        assert_eq!(cle1("0", 0, 2000, 0, "5"), 1);
        assert_eq!(cle1("0", 0, 2000, 0, "6"), 1);
        // Debt « 4 »: 8, key 3.
        assert_eq!(cle1("0", 0, 2000, 0, "4"), 3);
    }

    /// Worked by hand: 26 1 00 0002026000123 is 261000002026000123; 261000002026000123 mod 23:
    /// 261000002026000123 = 23 × 11347826175043483 + 14, so the 15th letter (index 14): « Q ».
    #[test]
    fn cle2_worked_example() {
        assert_eq!(261_000_002_026_000_123u64 % 23, 14);
        assert_eq!(cle2(2026, 1, "2026000123"), 'Q');
    }

    #[test]
    fn cle2_of_zero_is_a_and_never_a_skipped_letter() {
        assert_eq!(cle2(2000, 0, "0"), 'A');
        for n in 0..200u32 {
            let c = cle2(2026, 1, &n.to_string());
            assert!(MOD23.contains(&(c as u8)) && !"IOZ".contains(c));
        }
    }
}
