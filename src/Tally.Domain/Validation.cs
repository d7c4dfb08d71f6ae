namespace Tally.Domain;

/// <summary>A rejected input: a machine-readable code, a human message and the path of the field at fault.</summary>
public sealed record ValidationError(string Code, string Message, string? Field = null);
