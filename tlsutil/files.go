package tlsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
)

// The file names `custodes tls ca` and `custodes tls cert` write.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// CertFiles returns the certificate's and the key's file names for name.
func CertFiles(name string) (cert, key string) { return name + ".pem", name + "-key.pem" }

// nameRE keeps a certificate's name usable as a file name on every system
// and as a certificate's common name.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName refuses a name that cannot name the files.
func CheckName(name string) error {
	if !nameRE.MatchString(name) || name == "ca" {
		return fmt.Errorf("name %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, and not \"ca\"", name)
	}
	return nil
}

// WriteCA makes a new CA and writes ca.pem and ca-key.pem into dir. It
// refuses to overwrite either unless force: replacing a CA strands every
// certificate it signed. It returns the paths written.
func WriteCA(dir string, force bool) (*CA, []string, error) {
	ca, err := NewCA()
	if err != nil {
		return nil, nil, err
	}
	cert, key := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if err := writePair(cert, ca.CertPEM, key, ca.KeyPEM, force); err != nil {
		return nil, nil, err
	}
	return ca, []string{cert, key}, nil
}

// ReadCA loads the CA that WriteCA wrote into dir.
func ReadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("%w (create one with `custodes tls ca`)", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA in %s: %w", dir, err)
	}
	return ca, nil
}

// WriteCert signs a certificate for name with ca and writes NAME.pem and
// NAME-key.pem into dir (not overwriting unless force), returning their
// paths.
func WriteCert(ca *CA, dir, name string, ips []net.IP, dns []string, force bool) ([]string, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	p, err := ca.Issue(name, ips, dns)
	if err != nil {
		return nil, err
	}
	c, k := CertFiles(name)
	cert, key := filepath.Join(dir, c), filepath.Join(dir, k)
	if err := writePair(cert, p.CertPEM, key, p.KeyPEM, force); err != nil {
		return nil, err
	}
	return []string{cert, key}, nil
}

// writePair writes a certificate (0644: public) and its key (0600: only
// the agent's user may read it). Both are checked before either is
// written, so a refusal leaves nothing half-written.
func writePair(cert string, certPEM []byte, key string, keyPEM []byte, force bool) error {
	if !force {
		for _, p := range []string{cert, key} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists; refusing to overwrite it (use --force)", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := writeFile(key, keyPEM, 0o600, force); err != nil {
		return err
	}
	return writeFile(cert, certPEM, 0o644, force)
}

// writeFile creates path with mode. Without force it fails if path
// appeared meanwhile (O_EXCL); with force an existing file's mode is set
// anew, since an old key file may have been readable by others.
func writeFile(path string, data []byte, mode os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
