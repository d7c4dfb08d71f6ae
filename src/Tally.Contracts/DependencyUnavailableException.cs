namespace Tally.Contracts;

/// <summary>
/// A grain could not do its work because a dependency (PostgreSQL, Redis) did not answer. It replaces
/// the driver's own exception at the grain boundary: those cannot cross to the caller (Orleans has no
/// codec for them), and the caller only needs to know what to answer (503, retry later).
/// </summary>
[GenerateSerializer]
public sealed class DependencyUnavailableException : Exception
{
    public DependencyUnavailableException(string dependency, string message, Exception? inner = null) : base(message, inner) => Dependency = dependency;

    /// <summary>Which dependency failed: <c>PostgreSQL</c> or <c>Redis</c>.</summary>
    [Id(0)] public string Dependency { get; }
}
