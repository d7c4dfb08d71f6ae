using CsCheck;
using Shouldly;
using Xunit;

namespace Tally.Domain.Tests;

public class DecimalUnitsTests
{
    // Every scale from 0 to 10, magnitudes from tiny to past a long of units, and trailing zeros past the fourth decimal.
    private static readonly Gen<decimal> Value = Gen.OneOf(
        Gen.Long.Select(Gen.Int[0, 10]).Select((m, scale) => new decimal(m) / (decimal)Math.Pow(10, scale)),
        Gen.Int[-1_000_000, 1_000_000].Select(c => c / 100m * 1.000000m),
        Gen.Decimal);

    [Fact]
    public void a_value_is_held_as_units_exactly_when_it_is_a_whole_number_of_them()
    {
        Value.Sample(value =>
        {
            var inRange = Math.Abs(value) <= long.MaxValue / 10_000m;
            var scaled = inRange ? value * 10_000m : 0m;
            var whole = inRange && scaled == decimal.Truncate(scaled);
            DecimalUnits.TryFrom(value, out var units).ShouldBe(whole);
            if (whole)
            {
                units.ShouldBe((long)scaled);
                DecimalUnits.ToDecimal(units).ShouldBe(value);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void units_order_as_the_values_do()
    {
        Gen.Select(Value, Value).Sample((a, b) =>
        {
            if (!DecimalUnits.TryFrom(a, out var ua) || !DecimalUnits.TryFrom(b, out var ub)) return;
            ua.CompareTo(ub).ShouldBe(a.CompareTo(b));
        }, iter: 20_000);
    }

    [Fact]
    public void units_read_back_as_dividing_by_ten_thousand_does_scale_included()
    {
        Gen.OneOf(Gen.Long, Gen.Long[-1_000_000, 1_000_000], Gen.Long[-100, 100].Select(v => v * 10_000)).Sample(units =>
        {
            if (units == long.MinValue) return;
            var expected = units / 10_000m;
            var value = DecimalUnits.ToDecimal(units);
            value.ShouldBe(expected);
            value.Scale.ShouldBe(expected.Scale);
        }, iter: 20_000);
    }

    [Theory]
    [InlineData("1.50000", true, 15_000)]
    [InlineData("-0.0001", true, -1)]
    [InlineData("0.00001", false, 0)]
    [InlineData("922337203685477.5807", true, long.MaxValue)]
    [InlineData("922337203685477.5808", false, 0)]
    [InlineData("-922337203685477.5807", true, -long.MaxValue)]
    [InlineData("-922337203685477.5808", false, 0)]
    public void edges(string text, bool held, long expected)
    {
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        DecimalUnits.TryFrom(value, out var units).ShouldBe(held);
        if (held) units.ShouldBe(expected);
    }
}
