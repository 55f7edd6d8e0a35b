using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hive.Shared.Native;

/// <summary>What statx(2) says of a file, without following a final symlink: its type, link count and identity.</summary>
public readonly partial record struct FileStatus(uint Type, uint Links, ulong Device, ulong Inode)
{
    public const uint TypeMask = 0xF000;
    public const uint Regular = 0x8000;
    public const uint Directory = 0x4000;
    public const uint Symlink = 0xA000;
    public const uint Socket = 0xC000;

    // statx(2) rather than stat/fstat: struct statx has one layout on every architecture (include/uapi/linux/stat.h),
    // where struct stat has several (st_nlink before st_mode on x86-64, s390x and ppc64le, after it on arm64); and glibc
    // exports fstat only since 2.33 (RHEL 8 has 2.28), statx since 2.28.
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const int AT_EMPTY_PATH = 0x1000;   // include/uapi/linux/fcntl.h, the same everywhere
    private const uint STATX_TYPE = 0x1, STATX_NLINK = 0x4, STATX_INO = 0x100;
    private const uint Wanted = STATX_TYPE | STATX_NLINK | STATX_INO;
    private const int ENOENT = 2;
    private const int Size = 0x100;
    private const int MaskOffset = 0x00;        // __u32 stx_mask
    private const int NlinkOffset = 0x10;       // __u32 stx_nlink
    private const int ModeOffset = 0x1C;        // __u16 stx_mode
    private const int InodeOffset = 0x20;       // __u64 stx_ino
    private const int DevMajorOffset = 0x88;    // __u32 stx_dev_major
    private const int DevMinorOffset = 0x8C;    // __u32 stx_dev_minor

    /// <summary>The status of what is at <paramref name="path"/>; null when nothing is; IOException when it cannot be read.</summary>
    public static FileStatus? OfPath(string path)
    {
        Span<byte> buffer = stackalloc byte[Size];
        if (StatX(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, Wanted, buffer) == 0) return Read(buffer);
        var errno = Marshal.GetLastPInvokeError();
        if (errno == ENOENT) return null;
        throw new IOException($"cannot inspect {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>The status of an open descriptor (what was opened, not what a path named a moment earlier); null on failure.</summary>
    public static FileStatus? Of(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[Size];
        return StatXAt(handle, "", AT_EMPTY_PATH, Wanted, buffer) == 0 ? Read(buffer) : null;
    }

    private const uint STATX_UID = 0x8, STATX_GID = 0x10;
    private const int UidOffset = 0x14;         // __u32 stx_uid
    private const int GidOffset = 0x18;         // __u32 stx_gid

    /// <summary>Who owns what is at <paramref name="path"/> itself (a final link is not followed); null when it cannot be read.</summary>
    public static (uint Uid, uint Gid)? OwnerOfPath(string path)
    {
        Span<byte> buffer = stackalloc byte[Size];
        return StatX(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_UID | STATX_GID, buffer) == 0 ? ReadOwner(buffer) : null;
    }

    /// <summary>Who owns an open descriptor's file; null when it cannot be read.</summary>
    public static (uint Uid, uint Gid)? OwnerOf(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[Size];
        return StatXAt(handle, "", AT_EMPTY_PATH, STATX_UID | STATX_GID, buffer) == 0 ? ReadOwner(buffer) : null;
    }

    private static (uint, uint)? ReadOwner(ReadOnlySpan<byte> buffer)
    {
        var mask = MemoryMarshal.Read<uint>(buffer[MaskOffset..]);
        if ((mask & (STATX_UID | STATX_GID)) != (STATX_UID | STATX_GID)) return null;
        return (MemoryMarshal.Read<uint>(buffer[UidOffset..]), MemoryMarshal.Read<uint>(buffer[GidOffset..]));
    }

    private static FileStatus? Read(ReadOnlySpan<byte> buffer)
    {
        // Type and link count are what the callers decide on; every Linux filesystem also fills in the inode.
        var mask = MemoryMarshal.Read<uint>(buffer[MaskOffset..]);
        if ((mask & (STATX_TYPE | STATX_NLINK)) != (STATX_TYPE | STATX_NLINK)) return null;
        var mode = MemoryMarshal.Read<ushort>(buffer[ModeOffset..]);
        var device = ((ulong)MemoryMarshal.Read<uint>(buffer[DevMajorOffset..]) << 32) | MemoryMarshal.Read<uint>(buffer[DevMinorOffset..]);
        return new FileStatus(mode & TypeMask, MemoryMarshal.Read<uint>(buffer[NlinkOffset..]), device, MemoryMarshal.Read<ulong>(buffer[InodeOffset..]));
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatXAt(SafeFileHandle dirfd, string path, int flags, uint mask, Span<byte> buffer);
}
