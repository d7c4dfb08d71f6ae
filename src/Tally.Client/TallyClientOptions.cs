namespace Tally.Client;

/// <summary>Where the Tally API is and how the client talks to it.</summary>
public sealed class TallyClientOptions
{
    /// <summary>The API's base URL, e.g. <c>https://tally.example.com</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>A tenant key (role ingest, read or admin) sent as <c>Authorization: Bearer</c>.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>Events per request when sending many (the API takes 1-10,000).</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How many times a batch's events answered <c>retry</c> (or a request answered 429/503) are sent again,
    /// with the same idempotency keys, before the outcome is handed back as <c>retry</c>.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The first wait between attempts when the API gives no <c>Retry-After</c>; it doubles, up to 10 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many times one request that failed in transit (a dropped connection, a timeout, 408, 500, 502, 504;
    /// and 429/503 for reads) is sent again at once, before any answer reaches the caller. 0 hands every answer back
    /// as it came: a load generator that counts what the cluster sheds wants that.</summary>
    public int TransportRetries { get; set; } = 3;

    /// <summary>How long one request may take: a batch of 10,000 events on a busy cluster takes seconds, and a change-feed
    /// long poll holds up to 30 s, so the default leaves room for both.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    internal void Validate()
    {
        if (BaseAddress is null || !BaseAddress.IsAbsoluteUri) throw new ArgumentException("TallyClientOptions.BaseAddress must be an absolute URL.");
        if (string.IsNullOrWhiteSpace(ApiKey)) throw new ArgumentException("TallyClientOptions.ApiKey is required.");
        if (BatchSize is < 1 or > 10_000) throw new ArgumentException("TallyClientOptions.BatchSize must be 1-10,000.");
        if (MaxAttempts < 1) throw new ArgumentException("TallyClientOptions.MaxAttempts must be at least 1.");
        if (TransportRetries is < 0 or > 10) throw new ArgumentException("TallyClientOptions.TransportRetries must be 0-10.");
    }
}
