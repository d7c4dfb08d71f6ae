using Microsoft.Extensions.Options;

namespace Tally.Postgres.Lifecycle;

/// <summary>Where the cluster writes exports of raw events (a removed tenant's, continuous exports) and the S3 stores it
/// may reach. Section <c>Tally:Export</c>.</summary>
internal sealed class ExportOptions
{
    public const string Section = "Tally:Export";

    /// <summary>The operator's export directory: exports go under <c>{Directory}/{tenant}/{YYYY-MM}/</c>. Relative paths are
    /// taken from the process's working directory (the repository in the local stack).</summary>
    public string Directory { get; set; } = Path.Combine(".tally", "exports");

    /// <summary>Credential sets a tenant's S3 sink names (<c>"credentials": "acme"</c>): a tenant reaches only these stores.
    /// <c>Tally:Export:Credentials:acme:ServiceUrl</c>, <c>…:Region</c>, <c>…:AccessKey</c>, <c>…:SecretKey</c>.</summary>
    public Dictionary<string, S3CredentialSet> Credentials { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>How to reach one S3-compatible store. Requests are path-style (<c>{ServiceUrl}/{bucket}/{key}</c>), so any
/// S3-compatible server works.</summary>
internal sealed class S3CredentialSet
{
    /// <summary>The store's endpoint (<c>http://127.0.0.1:9000</c>); empty for AWS itself, then <see cref="Region"/> picks it.</summary>
    public string? ServiceUrl { get; set; }

    public string Region { get; set; } = "us-east-1";
    public string AccessKey { get; set; } = "";
    public string SecretKey { get; set; } = "";

    /// <summary>The tenants whose sinks may name this set: tenant ids, or <c>*</c> for every tenant. Empty (the default):
    /// only the tenant whose id is the set's name, so naming another tenant's set reaches nothing.</summary>
    public List<string> Tenants { get; set; } = new();

    /// <summary>Whether a tenant's sink may use this set, known in the configuration as <paramref name="setName"/>.</summary>
    public bool Allows(string setName, string tenantId) => Tenants.Count == 0 ? tenantId == setName : Tenants.Contains("*") || Tenants.Contains(tenantId);
}

internal sealed class ExportOptionsValidator : IValidateOptions<ExportOptions>
{
    public ValidateOptionsResult Validate(string? name, ExportOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Directory)) return ValidateOptionsResult.Fail($"{ExportOptions.Section}:Directory must name a directory.");
        foreach (var (set, c) in o.Credentials)
        {
            var at = $"{ExportOptions.Section}:Credentials:{set}";
            if (string.IsNullOrWhiteSpace(c.AccessKey) || string.IsNullOrWhiteSpace(c.SecretKey))
                return ValidateOptionsResult.Fail($"{at} needs AccessKey and SecretKey.");
            if (!string.IsNullOrEmpty(c.ServiceUrl)
                && !(Uri.TryCreate(c.ServiceUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
                return ValidateOptionsResult.Fail($"{at}:ServiceUrl must be an http(s) URL, or empty for AWS.");
            if (string.IsNullOrWhiteSpace(c.Region)) return ValidateOptionsResult.Fail($"{at}:Region must name a region (us-east-1 for most S3-compatible stores).");
        }
        return ValidateOptionsResult.Success;
    }
}
