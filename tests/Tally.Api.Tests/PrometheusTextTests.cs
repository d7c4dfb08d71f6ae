using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The strict exposition reader the /metrics tests rely on refuses what Prometheus would.</summary>
public class PrometheusTextTests
{
    private const string Good = """
        # TYPE x_total counter
        x_total{a="1"} 3
        # TYPE h histogram
        h_bucket{le="1"} 1
        h_bucket{le="+Inf"} 2
        h_sum 3.5
        h_count 2
        h_bucket{le="1"} 0
        h_bucket{le="+Inf"} 1
        h_sum 1
        h_count 1
        """;

    [Fact]
    public void a_well_formed_exposition_parses() => PrometheusText.Parse(Good)["h"].Samples.Count.ShouldBe(8);

    [Theory]
    [InlineData("# TYPE x counter\nx 3", "_total")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1", "cumulative")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1", "+Inf")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1", "_count")]
    [InlineData("y 1", "no # TYPE")]
    [InlineData("# TYPE y gauge\ny{a=1} 1", "bad labels")]
    public void a_malformed_exposition_is_refused(string text, string reason) =>
        Should.Throw<FormatException>(() => PrometheusText.Parse(text)).Message.ShouldContain(reason);
}
