using Microsoft.Extensions.Options;

namespace Tally.Postgres.Lifecycle;

/// <summary>Where the cluster writes exports of raw events (a removed tenant's, first of all). Section <c>Tally:Export</c>.</summary>
public sealed class ExportOptions
{
    public const string Section = "Tally:Export";

    /// <summary>The operator's export directory: exports go under <c>{Directory}/{tenant}/{YYYY-MM}/</c>. Relative paths are
    /// taken from the process's working directory (the repository in the local stack).</summary>
    public string Directory { get; set; } = Path.Combine(".tally", "exports");
}

internal sealed class ExportOptionsValidator : IValidateOptions<ExportOptions>
{
    public ValidateOptionsResult Validate(string? name, ExportOptions o) =>
        string.IsNullOrWhiteSpace(o.Directory)
            ? ValidateOptionsResult.Fail($"{ExportOptions.Section}:Directory must name a directory.")
            : ValidateOptionsResult.Success;
}
