using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Tally.Postgres.Lifecycle;

/// <summary>
/// Puts a verified local export (files and <c>manifest.json</c>) into an S3-compatible bucket under a key prefix, then
/// reads every object back and checks its size and SHA-256 against the manifest before anyone counts it as stored. The
/// manifest goes last, so a listing that shows one shows a whole export; the names depend only on the batch, so a retry
/// overwrites the same objects.
/// </summary>
internal sealed class S3ExportStore : IDisposable
{
    private readonly AmazonS3Client _client;

    public S3ExportStore(S3CredentialSet credentials)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = true,
            AuthenticationRegion = credentials.Region,
            // Checksums only where S3 requires them: S3-compatible stores do not all know the newer trailing checksums;
            // what was stored is checked here, by reading it back.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 3,
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (string.IsNullOrEmpty(credentials.ServiceUrl)) config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(credentials.Region);
        else config.ServiceURL = credentials.ServiceUrl;
        _client = new AmazonS3Client(new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey), config);
    }

    /// <summary>The S3 client, for operator tools and tests that read what was stored.</summary>
    public IAmazonS3 Client => _client;

    /// <summary>Uploads the export in <paramref name="dir"/> (already verified: <paramref name="manifest"/>) to
    /// <c>{bucket}/{keyPrefix}/</c> and verifies every object. Returns the bytes stored.</summary>
    public async Task<long> PutAsync(string dir, ExportManifest manifest, string bucket, string keyPrefix, CancellationToken ct)
    {
        long bytes = 0;
        foreach (var f in manifest.Files)
        {
            await PutFileAsync(Path.Combine(dir, f.Name), bucket, $"{keyPrefix}/{f.Name}", "application/gzip", ct);
            bytes += f.Bytes;
        }
        var manifestPath = Path.Combine(dir, EventExport.ManifestName);
        await PutFileAsync(manifestPath, bucket, $"{keyPrefix}/{EventExport.ManifestName}", "application/json", ct);

        foreach (var f in manifest.Files)
            await VerifyObjectAsync(bucket, $"{keyPrefix}/{f.Name}", f.Bytes, f.Sha256, ct);
        var manifestInfo = new FileInfo(manifestPath);
        await VerifyObjectAsync(bucket, $"{keyPrefix}/{EventExport.ManifestName}", manifestInfo.Length, await EventExport.HashAsync(manifestPath, ct), ct);
        return bytes + manifestInfo.Length;
    }

    /// <summary>Copies the export stored under <c>{bucket}/{keyPrefix}/</c> into <paramref name="dir"/> (the restore path:
    /// then <c>tally restore</c> verifies and loads it).</summary>
    public async Task<int> GetAsync(string bucket, string keyPrefix, string dir, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        var objects = 0;
        string? token = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = keyPrefix.TrimEnd('/') + "/", ContinuationToken = token }, ct);
            foreach (var o in page.S3Objects ?? [])
            {
                var name = o.Key[(keyPrefix.TrimEnd('/').Length + 1)..];
                if (name.Contains('/')) continue; // another batch's folder further down: not part of this export
                using var response = await _client.GetObjectAsync(bucket, o.Key, ct);
                await using var file = File.Create(Path.Combine(dir, name));
                await response.ResponseStream.CopyToAsync(file, ct);
                objects++;
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        return objects;
    }

    private async Task PutFileAsync(string path, string bucket, string key, string contentType, CancellationToken ct) =>
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = key, FilePath = path, ContentType = contentType, UseChunkEncoding = false,
        }, ct);

    private async Task VerifyObjectAsync(string bucket, string key, long bytes, string sha256, CancellationToken ct)
    {
        using var response = await _client.GetObjectAsync(bucket, key, ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long read = 0;
        int n;
        while ((n = await response.ResponseStream.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            read += n;
        }
        if (read != bytes) throw new ExportInvalidException($"s3://{bucket}/{key} holds {read} bytes, the manifest says {bytes}.");
        if (Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
            throw new ExportInvalidException($"s3://{bucket}/{key}: SHA-256 differs from what was written.");
    }

    public void Dispose() => _client.Dispose();
}
