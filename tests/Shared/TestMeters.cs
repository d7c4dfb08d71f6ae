using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Tally.Testing;

/// <summary>An <see cref="IMeterFactory"/> for types a test builds by hand (a host gives its own to what it builds).</summary>
internal static class TestMeters
{
    public static readonly IMeterFactory Factory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
}
