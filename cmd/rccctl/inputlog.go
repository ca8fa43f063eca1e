package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newInstanceInputLogCmd() *cobra.Command {
	var f serverFlags
	var out string
	cmd := &cobra.Command{
		Use:               "input-log ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, true)),
		Short:             "Download the input log of an instance spawned with --record",
		Long: `Download the input log (format rcc-replay/1, docs/replay.md) of an instance
spawned with --record from its executor, running or ended, and write it to
--out (standard output by default). A running instance's log ends at its
last flushed frame (flushed every 60 frames). Replay it with:

  rccctl game replay GAME.wasm FILE`,
		Example: `  rccctl instance spawn arena --record
  rccctl instance input-log i-0123 --out arena.rcclog
  rccctl game replay arena.wasm arena.rcclog`,
		Args: cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				creds, err := f.resolve()
				if err != nil {
					return err
				}
				tlsCfg, err := creds.TLSConfig()
				if err != nil {
					return err
				}
				// The coordinator grants this one download: the operator's own
				// token never goes to the executor.
				access, err := c.Instances.InputLogAccess(ctx, &rccv1.InputLogAccessRequest{Id: args[0]})
				if err != nil {
					return err
				}
				u, token := access.Url, client.Token(access.Token)
				n, err := downloadInputLog(ctx, cmd.Context(), u, token, tlsCfg, out, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				if out != "" && out != "-" {
					fmt.Fprintf(cmd.OutOrStdout(), "wrote the input log of %s to %s (%d bytes)\n", args[0], out, n)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default standard output)")
	addServerFlags(cmd, &f, false)
	return cmd
}

// downloadInputLog fetches u with token (a grant from the coordinator) and writes the body to out ("" or
// "-": w), through a temporary file so that a failed download leaves no
// partial file. The answer must arrive within headerCtx; the body may take
// as long as bodyCtx allows.
func downloadInputLog(headerCtx, bodyCtx context.Context, u string, token client.Token, tlsCfg *tls.Config, out string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(bodyCtx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+string(token))
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		hc := http.DefaultClient
		if tlsCfg != nil {
			// The executor's https:// endpoint, verified like the
			// coordinator (the same CA signs both in a deployment).
			hc = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
		}
		resp, err := hc.Do(req)
		got <- result{resp, err}
	}()
	var resp *http.Response
	select {
	case r := <-got:
		if r.err != nil {
			return 0, fmt.Errorf("fetch input log: %w", r.err)
		}
		resp = r.resp
	case <-headerCtx.Done():
		go func() {
			if r := <-got; r.resp != nil {
				r.resp.Body.Close()
			}
		}()
		return 0, fmt.Errorf("fetch input log from %s: %w", u, headerCtx.Err())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		text := strings.TrimSpace(string(msg))
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return 0, fmt.Errorf("the executor refused the coordinator's grant (%s): %s", resp.Status, text)
		case http.StatusNotFound:
			return 0, fmt.Errorf("the executor has no input log for this instance: %s", text)
		}
		return 0, fmt.Errorf("fetch input log: %s: %s", resp.Status, text)
	}
	if out == "" || out == "-" {
		n, err := io.Copy(w, resp.Body)
		if err != nil {
			return n, fmt.Errorf("fetch input log: %w", err)
		}
		return n, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return 0, fmt.Errorf("write input log: %w", err)
	}
	n, err := io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, fmt.Errorf("write input log %s: %w", out, err)
	}
	return n, nil
}
