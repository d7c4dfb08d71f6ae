using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Tally.Testing;

/// <summary>
/// The <see cref="IMeterFactory"/> of every host a test process starts, and of the types a test builds by hand. In
/// production a process has one host; here hosts come and go, and OpenTelemetry stops reporting every meter of a name
/// once one meter of that name is disposed (opentelemetry-dotnet#6412): one factory for the process, never disposed by a
/// host, keeps one meter per area as the product has.
/// </summary>
internal static class TestMeters
{
    public static readonly IMeterFactory Factory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    /// <summary>Gives a host the process's factory (registered as an instance: the host does not dispose it).</summary>
    public static IServiceCollection UseTestMeters(this IServiceCollection services) => services.AddSingleton(Factory);
}
