package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/cmdline"
)

func newCertCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Make TLS certificates for trying RCC out",
	}
	cmd.AddCommand(newCertDevCmd())
	return cmd
}

func newCertDevCmd() *cobra.Command {
	var (
		dir            string
		hosts, clients []string
		validity       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dev --dir DIR [--host NAME]... [--client NAME]...",
		Short: "Write a local CA, a server certificate and client certificates",
		Long: `Write a local certificate authority (ca.crt, ca.key) into --dir, a server
certificate (server.crt, server.key) valid for every --host besides
localhost, 127.0.0.1 and ::1, and a client certificate NAME.crt, NAME.key
for every --client (an executor's name, for mutual TLS). A CA already in
--dir is kept, so running it again signs more certificates with it.

The server certificate serves the coordinators (--tls-cert) and the
executors' players' endpoints; executors, rccctl and rcc-view verify them
with ca.crt (--coordinator-ca, --ca). For production, use certificates
from your own CA or ACME: these are for trying RCC out.`,
		Example: `  rccd cert dev --dir certs --host coord-1.internal --host 10.0.0.5 --client exec-1
  rccd coordinator --tls-cert certs/server.crt --tls-key certs/server.key --tls-client-ca certs/ca.crt
  rccctl --ca certs/ca.crt --addr coord-1.internal:7400 executor ls`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := certs.WriteDev(certs.DevRequest{Dir: dir, Hosts: hosts, Clients: clients, Validity: validity})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "CA           %s\n", out.CA)
			fmt.Fprintf(w, "server       %s %s\n", out.ServerCert, out.ServerKey)
			names := make([]string, 0, len(out.Clients))
			for n := range out.Clients {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "client %-5s %s %s\n", n, out.Clients[n][0], out.Clients[n][1])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "certs", "directory to write (and of an existing CA)")
	f.StringArrayVar(&hosts, "host", nil, "DNS name or IP address the server certificate is valid for (repeatable)")
	f.StringArrayVar(&clients, "client", nil, "name of a client certificate to make (repeatable)")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the server and client certificates are valid")
	return cmd
}
