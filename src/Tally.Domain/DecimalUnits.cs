namespace Tally.Domain;

/// <summary>
/// A decimal held as a long count of 1/10,000 while it is exact there: every value with up to four decimals (what the
/// API promises to keep) and any sum of them short of about 9.2 × 10^14. Eight bytes instead of sixteen, and compared
/// as a long. A value that is not (more decimals, or too large) stays a decimal wherever it is kept.
/// </summary>
internal static class DecimalUnits
{
    public const decimal PerOne = 10_000m;

    /// <summary>The largest value held as units: long.MaxValue of them (long.MinValue is left out, for callers' marks).</summary>
    private const decimal MaxValue = long.MaxValue / PerOne;

    private static readonly ulong[] Pow10 = [1, 10, 100, 1_000, 10_000];

    /// <summary>The value in units of 1/10,000, if it is exactly a whole number of them and fits a long.</summary>
    public static bool TryFrom(decimal value, out long units)
    {
        units = 0;
        // Fast path: a scale of four or less and a mantissa of 64 bits or less, as nearly every value has.
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var scale = (bits[3] >> 16) & 0xFF;
        if (bits[2] == 0 && scale <= 4)
        {
            var mantissa = (uint)bits[0] | ((ulong)(uint)bits[1] << 32);
            var factor = Pow10[4 - scale];
            var magnitude = mantissa * factor;
            if ((mantissa != 0 && magnitude / factor != mantissa) || magnitude > long.MaxValue) return false;
            units = bits[3] < 0 ? -(long)magnitude : (long)magnitude;
            return true;
        }
        // Trailing zeros past the fourth decimal (1.50000) or a wide mantissa: decide by value (bounded first, so the
        // scaling cannot overflow).
        if (value > MaxValue || value < -MaxValue) return false;
        var scaled = value * PerOne;
        if (scaled != decimal.Truncate(scaled)) return false;
        units = (long)scaled;
        return true;
    }

    /// <summary>The value of <paramref name="units"/>, with no trailing zeros (as dividing by 10,000 gives), without a division
    /// of decimals: pages of scores are made this way.</summary>
    public static decimal ToDecimal(long units)
    {
        var magnitude = units < 0 ? (ulong)-units : (ulong)units;
        byte scale = 4;
        while (scale > 0 && magnitude % 10 == 0 && magnitude != 0)
        {
            magnitude /= 10;
            scale--;
        }
        if (magnitude == 0) scale = 0;
        return new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), 0, units < 0, scale);
    }
}
