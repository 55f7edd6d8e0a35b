using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.StateFiles;

/// <summary>The operator opens a state file linked from a body: at most 1 MiB, through the allow-list only.</summary>
public static class ReadStateFile
{
    public const int MaxBytes = 1024 * 1024;

    public sealed record Query(string? Path) : IRequest<Result>;

    public sealed record Result(string Name, string ContentType, byte[] Content);

    internal sealed class Handler(IStateFileAllowList allowList) : IRequestHandler<Query, Result>
    {
        public Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var (verdict, file) = allowList.Open(query.Path);
            // The same sentence for every refusal: the answer must not describe what lies behind a path.
            switch (verdict)
            {
                case StateFileVerdict.Malformed: throw new BadRequestException("path must be an absolute path of at most 4096 bytes without NUL");
                case StateFileVerdict.Refused: throw new ForbiddenException("the path is not a readable state file");
                case StateFileVerdict.Missing: throw new NotFoundException("no such state file");
            }

            using (file)
            {
                // Count the bytes actually read, not a size the file claims (a /proc-like file says 0, a growing one more).
                var buffer = new byte[MaxBytes + 1];
                var total = 0;
                while (total < buffer.Length)
                {
                    var read = RandomAccess.Read(file!.Handle, buffer.AsSpan(total), total);
                    if (read == 0) break;
                    total += read;
                }
                if (total > MaxBytes) throw new TooLargeException($"state files are served up to {MaxBytes} bytes");
                return Task.FromResult(new Result(file!.Name, ContentTypes.For(file.Name), buffer[..total]));
            }
        }
    }
}

/// <summary>What a state file is served as. Anything that a browser could run (html, svg, js) is plain text.</summary>
internal static class ContentTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".md"] = "text/markdown; charset=utf-8",
        [".json"] = "application/json; charset=utf-8",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".webp"] = "image/webp",
        [".pdf"] = "application/pdf",
    };

    public static string For(string name) =>
        ByExtension.TryGetValue(Path.GetExtension(name), out var type) ? type : "text/plain; charset=utf-8";
}
